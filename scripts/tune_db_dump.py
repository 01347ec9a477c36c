#!/usr/bin/env python3
"""Dumps a tuning database's calibration rows and candidates to JSON (for runs on a lent GPU,
whose database is too large to bring back whole): scripts/tune_db_dump.py DB OUT.json"""
import sqlite3, json, sys
db = sqlite3.connect(sys.argv[1])
cal = [dict(zip([d[0] for d in c.description], r)) for c in [db.execute("select * from calibration")] for r in c.fetchall()]
cands = [dict(zip([d[0] for d in c.description], r)) for c in [db.execute("select * from candidates")] for r in c.fetchall()]
json.dump({"calibration": cal, "candidates": cands}, open(sys.argv[2], "w"), indent=1)
print(len(cal), "calibration rows,", len(cands), "candidates")
