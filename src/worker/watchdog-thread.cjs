// The watchdog thread of a worker process (plain CommonJS: it runs as is from src/ and dist/). Its
// process's main thread runs the jobs and may be stuck in one for good (a synchronous loop); this
// thread has an event loop of its own. Every 100 ms it reads the slot board the main thread keeps in
// shared memory (per slot: the kill deadline of its job, or 0, and the job's claim call and index)
// and, for each job past its deadline, writes "overdue <call> <index>" to the pipe its supervisor
// reads; the supervisor then kills the process and ends that job as timed out. It also kills its
// process when the supervisor is gone (the process got a new parent), so that a stuck process never
// outlives its supervisor.
'use strict';
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');

const { board, fd, mainTimeOrigin, parentPid } = workerData;
const slots = new Float64Array(board);
const reported = new Set();
// The main thread's performance.now(), read from here.
const originOffset = performance.timeOrigin - mainTimeOrigin;

setInterval(() => {
  if (process.ppid !== parentPid) process.kill(process.pid, 'SIGKILL');
  const now = performance.now() + originOffset;
  for (let i = 0; i + 2 < slots.length; i += 3) {
    const killAt = slots[i];
    if (killAt === 0 || killAt > now) continue;
    const key = `${slots[i + 1]} ${slots[i + 2]}`;
    if (reported.has(key)) continue;
    reported.add(key);
    try {
      fs.writeSync(fd, `overdue ${key}\n`);
    } catch {
      // The supervisor is gone: the parent check above ends this process.
    }
  }
}, 100);
