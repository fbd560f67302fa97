"""The networks and their training: pix2pix style transfer and the U-Net segmenter."""
