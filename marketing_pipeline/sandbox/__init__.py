"""The built-in sandbox: one generated brand and local emulators of every vendor API."""
