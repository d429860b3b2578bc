"""Real learner data shipped with learnprog, and the importers that load it.

:mod:`learnprog.datasets.oulad` imports the subset of the Open University Learning Analytics
Dataset in ``learnprog/datasets/oulad/`` (Kuzilek J., Hlosta M., Zdrahal Z. "Open University
Learning Analytics dataset". Scientific Data 4, 170171 (2017), doi:10.1038/sdata.2017.171;
licence CC BY 4.0; its README travels with the files).
"""
