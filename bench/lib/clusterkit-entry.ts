/**
 * Entry of the bench's build of clusterkit: core and both adapter entries in ONE bundle, so the core
 * (and `ClusterError`) exists once, as in the published package where the adapters import it.
 */
export * as core from 'clusterkit';
export * as redis from 'clusterkit/redis';
export * as rabbitmq from 'clusterkit/rabbitmq';
export * as postgres from 'clusterkit/postgres';
