"""Camera calibration: align a sharp/blurred pair, estimate the distortion prior and the PSF field,
and store them in a self-describing prior file."""
