#!/usr/bin/env python3
"""Seed corpus for fuzz_pickle: make_pickle_corpus.py DATASTORE OUT_DIR writes the pickle
inside every content-addressed artifact blob (<flow>/data/<xx>/<sha>, gzip) of the datastore
under DATASTORE, one file each, named by its sha. Run at fuzz time; not committed."""
import gzip
import os
import sys


def main(root, out):
    os.makedirs(out, exist_ok=True)
    for folder, _, files in os.walk(root):
        if os.sep + "data" + os.sep not in folder + os.sep:
            continue
        for name in files:
            if name.endswith("_meta"):
                continue
            with gzip.open(os.path.join(folder, name)) as blob:
                pickle = blob.read()
            with open(os.path.join(out, name), "wb") as seed:
                seed.write(pickle)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
