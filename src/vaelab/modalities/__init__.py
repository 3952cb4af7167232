"""What only one modality needs: spectra (preprocessing), images, audio."""
