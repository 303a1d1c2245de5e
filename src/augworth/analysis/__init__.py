"""The analysis layer: pure functions from stored results to the tables, fits, selections and
effects the chapters show and the verdicts read. Above the experiments (it reads their results),
below the verdicts; never imported by a runner, so an analysis edit never makes a result stale."""
