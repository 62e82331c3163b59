"""What vmnist and ttn both stand on, none of it about Video-MNIST: user-facing errors, atomic file writing, bounded
reads of input files, worker process pools that stop cleanly, lazy package namespaces. Imports no torch or h5py."""
