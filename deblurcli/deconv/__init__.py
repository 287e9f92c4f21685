"""Non-blind deconvolution with a known or estimated camera-shake kernel (`deblur --method kernel`,
`--kernel FILE`): kernel files and canvases (``psf``), blind kernel estimation (``estimate``)."""
