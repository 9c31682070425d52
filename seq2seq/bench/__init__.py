"""Benchmarks: decoding speed (:mod:`.decode`), training speed and time to quality
(:mod:`.train`) and streamed-training memory (:mod:`.memory`), run by ``s2s-benchmark``
(:mod:`.cli`).

They import the library and measure its real code paths; the library never imports them.
"""
