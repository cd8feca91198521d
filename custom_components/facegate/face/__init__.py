"""Local face recognition: engine, worker process, gallery, liveness and voting.

Plain Python and numpy, without Home Assistant imports. dlib is imported only by the engine,
which runs in its own worker process (dlib's encoder and CNN detector hold the GIL).
"""
