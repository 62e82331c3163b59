"""The Click layer of `vmnist` and `ttn`: option parsing and printing only, no science."""
