"""The Video-MNIST file: its HDF5 contract (`vmnist.file.format`), making it (digits -> frames -> compressed chunks
-> file or shards), reading it (checked first, then whole splits or a torch Dataset), describing and re-checking it."""
