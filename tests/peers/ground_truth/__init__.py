"""Ground truth for the API check (issue 19): one case-notes API described once (document.py),
built three times in different frameworks (stdlib http.server, FastAPI, Flask), each as a flawed
target planting the same faults (faults.py) and as a clean twin planting none. The rules both
modes share live in case_notes.py; each framework does its own routing, errors and debug pages."""
