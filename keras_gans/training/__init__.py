"""Layer 5, training: the one driver (`driver.train`), the model it builds and `load_run` (`build`), the multi-worker
loop (`distributed`), the callbacks and the curves figure."""
