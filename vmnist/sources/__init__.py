"""The real MNIST digits: where they come from (a local copy, the cache, the IDX mirrors, the PyPI wheel), how each
format is decoded, and the content hash that identifies them (`vmnist.sources.mnist.fetch_mnist`)."""
