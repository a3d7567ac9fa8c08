"""The shared adversarial training engine: one loop for every plugin's GAN."""
