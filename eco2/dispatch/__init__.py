"""The scheduling ports on Celery (rounds as chords, queued jobs, trace closing; the producer) and in process
(``--inline``): the only Celery-aware code in ``eco2/``."""
