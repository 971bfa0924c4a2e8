"""`rasa run` with the JWT secret of its HTTP API taken from the environment
(AFTERCLASS_RASA_TOKEN), not from the command line, where any local user could read it
(/proc/<pid>/cmdline). bot/rasa_env.py starts Rasa through this module."""

import os
import sys

if __name__ == "__main__":
    secret = os.environ.get("AFTERCLASS_RASA_TOKEN", "")
    if not secret:
        sys.exit("AFTERCLASS_RASA_TOKEN is not set: Rasa's API would be open")
    sys.argv = ["rasa", "run", *sys.argv[1:], "--jwt-secret", secret, "--jwt-method", "HS256"]
    from rasa.__main__ import main

    main()
