"""Check a SID-layout dataset and list every problem found.

    python -m sid_tf2.data --data_dir=dataset/Sony
    python -m sid_tf2.data --list_file=dataset/Sony_train_list.txt --nodecode
    python -m sid_tf2.data --list_file=dataset/Sony_train_list.txt --list_only

Prints each problem on its own line, then the scenes and pairs per split and the pairs per
amplification ratio. Exits 1 when a problem was found, 0 otherwise. `--decode` (the default for
at most 100 files) decodes every file into the cache, which training then reuses; `--nodecode`
only opens each file and reads its header. `--list_only` counts a list file's names without
touching any raw file.
"""

import sys

from absl import flags

from sid_tf2 import cli
from sid_tf2.atomic import WriteError
from sid_tf2.constants import CAMERA_NAMES

FLAGS = flags.FLAGS
flags.DEFINE_string("data_dir", None, "Dataset directory holding short/ and long/.")
flags.DEFINE_string("list_file", None, "Check this list file's pairs instead of globbing data_dir.")
flags.DEFINE_string("cache_dir", None, "Cache of decoded files (default DATA_DIR/.cache).")
flags.DEFINE_bool("decode", None, "Decode every file into the cache (default: when at most 100 files).")
flags.DEFINE_bool("list_only", False, "Only count the list file's names; open no raw file.")
flags.DEFINE_enum("camera", None, CAMERA_NAMES, "Require this camera's mosaic (default: any).")
flags.DEFINE_integer("patch_size", None, "Also report inputs smaller than this training patch.")
flags.DEFINE_bool("progress", False, "Print each file as it is checked.")


def main(argv):
    if len(argv) > 1:
        print(f"error: unexpected arguments: {' '.join(argv[1:])}", file=sys.stderr)
        return 2
    from sid_tf2.data.check import check_dataset, count_list  # rawpy: off --help
    from sid_tf2.data.discovery import DatasetError  # rawpy: off --help

    try:
        if FLAGS.list_only:
            if not FLAGS.list_file:
                print("error: --list_only needs --list_file", file=sys.stderr)
                return 2
            report = count_list(FLAGS.list_file)
        else:
            if not FLAGS.data_dir and not FLAGS.list_file:
                print("error: give --data_dir or --list_file", file=sys.stderr)
                return 2
            report = check_dataset(FLAGS.data_dir, FLAGS.list_file, FLAGS.cache_dir, decode=FLAGS.decode,
                                   camera=FLAGS.camera, patch_size=FLAGS.patch_size, progress=FLAGS.progress)
    except (DatasetError, WriteError) as error:  # a full disk while filling the cache (--decode)
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(report.format())
    return 0 if report.ok else 1


def run():
    """The `sid-data` console script."""
    cli.run(main)


if __name__ == "__main__":
    run()
