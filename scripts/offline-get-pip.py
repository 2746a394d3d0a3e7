# Offline stand-in for https://ci-files.testing.ansible.com/ansible-test/get-pip-24.2.py:
# bootstrap pip from the stdlib ensurepip, then let it install the requested packages from PyPI.
import subprocess
import sys

GET_PIP_ONLY = {'--no-setuptools', '--no-wheel'}
args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY]
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'])
rc = subprocess.call([sys.executable, '-m', 'pip', 'install', *args])  # noqa: S603 - args come from ansible-test
if rc == 0 and '--no-setuptools' in sys.argv:
    subprocess.call([sys.executable, '-m', 'pip', 'uninstall', '-y', '-q', 'setuptools'])
sys.exit(rc)
