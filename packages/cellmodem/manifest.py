metadata(description="The core: the AT engine, Modem, the dialect registry and base, sockets, errors.", version="0.1.0", license="MIT")

package("cellmodem", files=(
    "__init__.py",
    "_names.py",
    "_rare.py",
    "at.py",
    "bringup.py",
    "compat.py",
    "defects.py",
    "engine.py",
    "errors.py",
    "ident.py",
    "line.py",
    "modem.py",
    "power.py",
    "resume.py",
    "socket.py",
    "sockets.py",
    "timeouts.py",
    "validate.py",
    "dialects/__init__.py",
    "dialects/base.py",
), base_path="../../lib", opt=3)
