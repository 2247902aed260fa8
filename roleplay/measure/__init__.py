"""Measuring the gym: the commands that say how good and how fast it is.

- ``evaluation``: golden files, agreement (QWK with intervals) and the grading, signals,
  reading and robustness evals.
- ``coaching``: ``roleplay eval coaching``, the defect count over notes and reports.
- ``simulation``: scripted reps against personas, with outcomes checked in code.
- ``bench``: latency on the embedded model and the app's own overhead.
- ``voice_bench``: ``roleplay bench --voice``, a spoken turn's latency and the transcript's word error rate.
- ``browser_bench``: ``roleplay bench --browser``, Enter to the prospect's first word in headless Chromium.
- ``fit_reader``: fitting the reader's heads on the dev splits.

The app uses only ``simulation``, for the persona studio's trials.
"""
