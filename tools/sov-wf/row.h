/*
 * row.h - reading the columns of a store row (lib/store.h gives a row as a
 * jv object): numbers, text and JSON text, whatever the engine.
 */
#ifndef WF_ROW_H
#define WF_ROW_H

#include <stddef.h>

#include <jv.h>

/* A number column, or dflt when it is null or missing. row is borrowed. */
double wf_row_num(jv row, const char *k, double dflt);

/* The number column k of the first row of rows (borrowed), or dflt. */
double wf_row_first_num(jv rows, const char *k, double dflt);

/* A text column copied into buf, "" when null (cut to fit). */
void wf_row_text(jv row, const char *k, char *buf, size_t size);

/* Whether a text column equals s. */
int wf_row_is(jv row, const char *k, const char *s);

/* A JSON text column parsed; null when null or not JSON. */
jv wf_row_json(jv row, const char *k);

#endif
