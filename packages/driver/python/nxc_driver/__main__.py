# Entry point. nxc runs `python3 -I -B -u -X utf8 <this file>`: isolated mode puts neither
# the working directory (the user's project, which may hold a json.py) nor PYTHONPATH on
# sys.path, so the only directory added is the one holding this package.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from nxc_driver.driver import main  # noqa: E402

main()
