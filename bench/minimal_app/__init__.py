"""The issue's reference point, run in the same benchmark: a minimal Django 5.2 blog
(startproject's settings and middleware, persistent connections, a ListView paginated
by 10 and a DetailView, plain templates) reading the same posts table. bench/run.py
serves it with gunicorn and the shipped config, cold, next to Inkstone's cold pages."""
