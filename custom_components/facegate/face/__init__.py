"""Local face recognition: engine, worker process, gallery, liveness and voting.

Plain Python and numpy, without Home Assistant imports. The engines (dlib's, and YuNet +
MobileFaceNet on onnxruntime or the numpy executor) run in their own worker process (dlib's
encoder and CNN detector hold the GIL).
"""
