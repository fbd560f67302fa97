"""Running it all: chapters executed in batch, the sweep, segmenting files, the command line."""
