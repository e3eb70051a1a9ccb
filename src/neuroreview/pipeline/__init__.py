"""The review as a function: configuration in, typed stage results out (see ``run_review``).

The faces (CLI, web app, report) call it and hold no statistics or domain rules of their own.
"""
