# The seed experiment's dummy agent, as the report ran it: FastAPI + uvicorn.
# `GET /ping` -> {"status": "ok"}, `POST /invocations` -> {"echo": <request JSON>}.
# The seed report gives no code; this is its described behaviour. dummy-agent replaces it;
# `cargo xtask bench agent` and agentcore-local's `--agent-cmd` test run this file for comparison.
from fastapi import FastAPI, Request

app = FastAPI()


@app.get("/ping")
async def ping():
    return {"status": "ok"}


@app.post("/invocations")
async def invocations(request: Request):
    payload = await request.json()
    return {"echo": payload}
