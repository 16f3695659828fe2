"""Settings for the whole test suite.

The scripts tune their speed settings by timing candidates the first time they run on a machine
(`sid_tf2.tuning`). Tests must not depend on timings, nor spend a minute measuring in every
script they start: SID_TF2_TUNING=off makes every process of the suite use the reasoned rule of
`sid_tf2.hardware` instead (tests/test_tuning.py measures on purpose, in its own cache), and the
cache goes to a temporary directory, never the user's.
"""

import os
import tempfile

os.environ.setdefault("SID_TF2_TUNING", "off")
os.environ.setdefault("SID_TF2_CACHE_DIR", tempfile.mkdtemp(prefix="sid_tf2_test_cache_"))
