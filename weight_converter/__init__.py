"""Convert the published TF1 SID checkpoints to Keras and back."""
