"""The fleet report: the provenance report over many repositories, run on Dask (imported only by `fleet`).

`sources` reads the list of repositories, `clones` opens or clones one of them on a worker, `summary`
reduces one repository's report to the sections that sum and merges them, `render` writes the fleet report,
and `cluster` (the only module that imports Dask) runs one job per repository on a cluster.
"""
