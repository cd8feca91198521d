"""FaceGate tests."""
