"""The TF1 reference of the SID network and the tests that hold the Keras port to it."""
