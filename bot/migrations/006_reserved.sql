-- Reserved for the erasure tombstones (replaced when that work is merged).
SELECT 1;
