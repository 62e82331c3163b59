"""Pictures: writing matplotlib figures with legible text (shared with ttn's report), and previews of a file
(one example per class, frames across; or a GIF)."""
