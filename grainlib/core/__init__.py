"""Profiles and their schema, fingerprinted artifacts on disk, grain ids and boundaries."""
