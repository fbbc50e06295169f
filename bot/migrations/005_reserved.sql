-- Reserved for the outbox leases (replaced when that work is merged).
SELECT 1;
