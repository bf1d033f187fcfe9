"""People's images to answers: an image file read and framed like MNIST, the Reader (digit,
calibrated confidence, "not a digit"), written numbers cut into digits, and the detector.

May import: everything below the front ends but `experiments`.
"""
