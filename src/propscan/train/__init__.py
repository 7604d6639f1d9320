"""Training (needs ``pip install 'propscan[train]'``), one job per module.

``config`` (TrainConfig), ``data`` (PTC windows and targets), ``model`` (the Tagger),
``trainer`` (one training stage), ``teacher`` (soft labels for self-training), ``recipe`` (two
stages, teacher and student, cross-validation), ``onnx_export``; then, without torch: ``oof``
(out-of-fold scores), ``scored_corpus`` (tagger outputs on annotated articles, as the span
stage is fitted on them), ``span_fit`` (decoding and span-model fitting), ``calibration``,
``crossfit`` (cross-fitted figures; ``python -m propscan.train.crossfit``), ``install``
(installing and versioning a model directory) and ``reference_stats``.
"""
