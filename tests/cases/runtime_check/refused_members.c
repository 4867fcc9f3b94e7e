/* Arrays reached through structure members where no run-time check is sound. */
// expect 26: unknown
// expect 35: serial
// expect 44: unknown
// note 44: no run-time alias check: c->p->out is reached through more than one pointer
// expect 50: unknown
// note 50: no run-time alias check: p->in may be indexed below p->in[0]
// expect 56: unknown
// note 56: no run-time alias check: the range of p->in the loop touches is not affine in its bounds
// expect 62: unknown
// note 62: no run-time alias check: the range of s->out the loop touches is not affine in its bounds
// expect 68: unknown
// note 68: no run-time alias check: the loop writes s->buf, inside *s
// expect 74: unknown
// note 74: no run-time alias check: p.out: its structure is an element of p, not a variable or what a pointer variable points at
// expect 80: serial
// expect 81: parallel-if-disjoint
// (s->n changes only between runs of that inner loop; its range spans every outer iteration)
/* Each loop keeps PossibleAlias (or has another obstacle): the notes say why. */
struct pair { double *in, *out; };
struct chain { struct pair *p; double *in; int n; };
struct sized { int n; double limit; double *in, *out; double buf[64]; };

void struct_pointer_moves(int n, struct pair *p, struct pair *q)
{
    for (int i = 0; i < n; i++) {
        p->out[i] = p->in[i];
        if (p->out[i] > 1.0)
            p = q;
    }
}

void member_pointer_assigned(int n, struct pair *p, double *spare)
{
    for (int i = 0; i < n; i++) {
        p->out[i] = p->in[i];
        if (i == 7)
            p->in = spare;
    }
}

void two_hops(struct chain *c)
{
    for (int i = 0; i < c->n; i++)
        c->p->out[i] = c->in[i];
}

void below_zero(int n, struct pair *p)
{
    for (int i = 0; i < n; i++)
        p->out[i] = p->in[i - 1];
}

void gathered(int n, struct pair *p, const int *idx)
{
    for (int i = 0; i < n; i++)
        p->out[i] = p->in[idx[i]];
}

void float_bound(struct sized *s)
{
    for (int i = 0; i < s->limit; i++)
        s->out[i] = s->in[i];
}

void inside_the_struct(struct sized *s)
{
    for (int i = 0; i < 64; i++)
        s->buf[i] = s->in[i];
}

void array_of_structs(int n, struct pair *p)
{
    for (int i = 0; i < n; i++)
        p[1].out[i] = p[1].in[i];
}

void bound_written(struct sized *s)
{
    for (int i = 0; i < 100; i++) {
        for (int j = 0; j < s->n; j++)
            s->out[i * 100 + j] = s->in[j];
        s->n = i;
    }
}
