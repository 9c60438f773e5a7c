-- Where a schedule's fires execute: '' (a child process of the scheduler)
-- or 'slurm', and the cluster resources they ask for (JSON, the fields of
-- tracking.Resources).
ALTER TABLE schedules ADD COLUMN executor TEXT NOT NULL DEFAULT '';
ALTER TABLE schedules ADD COLUMN resources TEXT NOT NULL DEFAULT '{}';
