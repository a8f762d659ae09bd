"""Set-up and installers: the bootstrap (venv, the right torch, launch/test), Linux and Windows installers.

Everything here runs on the system Python before any venv exists, so it uses the standard library only.
"""
