/*
 * Connection limits shared by every loop's listener (sidik/net.h): the
 * total, and each client identity's share, under one mutex (taken once per
 * connection opened or closed, never per byte).
 */
#include "net_int.h"
#include "sidik/common.h"
#include "sidik/net.h"

#include <pthread.h>
#include <string.h>

#define CLIENT_BUCKETS 1024

typedef struct client_count {
    struct client_count *next;
    sidik_identity who;
    uint32_t n;
} client_count;

struct sidik_net_limits {
    pthread_mutex_t mu;
    uint32_t max_total, per_client;
    uint32_t total;
    client_count *clients[CLIENT_BUCKETS];
};

int sidik_net_limits_create(uint32_t max_connections, uint32_t per_client, sidik_net_limits **out)
{
    if (out == NULL)
        return SIDIK_EINVAL;
    sidik_net_limits *l = sidik_trycalloc(1, sizeof *l);
    if (l == NULL)
        return SIDIK_ENOMEM;
    pthread_mutex_init(&l->mu, NULL);
    l->max_total = max_connections ? max_connections : 10000;
    l->per_client = per_client ? per_client : 64;
    *out = l;
    return 0;
}

void sidik_net_limits_destroy(sidik_net_limits *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < CLIENT_BUCKETS; i++)
        while (l->clients[i] != NULL) {
            client_count *k = l->clients[i];
            l->clients[i] = k->next;
            sidik_free(k);
        }
    pthread_mutex_destroy(&l->mu);
    sidik_free(l);
}

uint32_t sidik__limits_per_client(const sidik_net_limits *l)
{
    return l->per_client;
}

bool sidik__limits_open(sidik_net_limits *l)
{
    pthread_mutex_lock(&l->mu);
    bool ok = l->total < l->max_total;
    if (ok)
        l->total++;
    pthread_mutex_unlock(&l->mu);
    return ok;
}

void sidik__limits_close(sidik_net_limits *l)
{
    pthread_mutex_lock(&l->mu);
    l->total--;
    pthread_mutex_unlock(&l->mu);
}

static client_count **slot(sidik_net_limits *l, const sidik_identity *who)
{
    uint32_t h = 2166136261u ^ (uint32_t)who->role; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)who->name; *p; p++)
        h = (h ^ *p) * 16777619u;
    client_count **pp = &l->clients[h % CLIENT_BUCKETS];
    while (*pp != NULL &&
           ((*pp)->who.role != who->role || strcmp((*pp)->who.name, who->name) != 0))
        pp = &(*pp)->next;
    return pp;
}

bool sidik__limits_admit(sidik_net_limits *l, const sidik_identity *who)
{
    pthread_mutex_lock(&l->mu);
    client_count **pp = slot(l, who);
    if (*pp == NULL && (*pp = sidik_trycalloc(1, sizeof **pp)) != NULL)
        (*pp)->who = *who;
    bool ok = *pp != NULL && (*pp)->n < l->per_client;
    if (ok)
        (*pp)->n++;
    else if (*pp != NULL && (*pp)->n == 0) {
        client_count *k = *pp;
        *pp = k->next;
        sidik_free(k);
    }
    pthread_mutex_unlock(&l->mu);
    return ok;
}

void sidik__limits_release(sidik_net_limits *l, const sidik_identity *who)
{
    pthread_mutex_lock(&l->mu);
    client_count **pp = slot(l, who);
    if (*pp != NULL && --(*pp)->n == 0) {
        client_count *k = *pp;
        *pp = k->next;
        sidik_free(k);
    }
    pthread_mutex_unlock(&l->mu);
}
