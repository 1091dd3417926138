"""Coverage-guided fuzzing of every parser of hostile input (HipSense issue 10).

* :mod:`fuzz.targets`: one target per parser (bytes in), each with the only exception types it may raise;
* ``fuzz/corpus/<target>/``: the committed seed corpora (golden vectors, test fixtures, minimised finds);
* :mod:`fuzz.run`: runs each target under atheris (libFuzzer) for a given time and prints a table;
* ``tests/fuzz/``: replays every corpus file and a few hundred hypothesis examples per target in the default run.

It lives beside ``bench/`` rather than in it: the targets are shared by the atheris runner and the default test
suite, and the corpora are data, not benchmarks.
"""
