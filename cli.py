"""`python cli.py COMMAND ...`: the keras_gans command line (the same as the `keras-gans` console script)."""

from keras_gans.cli import main

if __name__ == "__main__":
    main()
