/* A singly linked list stored in an array of nodes: building the links is
 * a do-all loop, walking the list with p = p->next is not a counted loop. */
#include <stdio.h>
#include <stdlib.h>

struct node {
    double val;
    struct node *next;
};

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 100000 * scale;
    struct node *nodes = malloc((size_t)n * sizeof *nodes);
    if (!nodes)
        return 1;

    for (int i = 0; i < n; i++) {
        nodes[i].val = (double)(i % 100) * 0.25;
        nodes[i].next = (i > 0) ? &nodes[i - 1] : NULL;
    }
    struct node *head = &nodes[n - 1];

    struct node *p;
    for (p = head; p != NULL; p = p->next)
        p->val = p->val * 2.0 + 1.0;

    double list_sum = 0.0;
    for (p = head; p; p = p->next)
        list_sum += p->val;

    double array_sum = 0.0;
    for (int i = 0; i < n; i++)
        array_sum += nodes[i].val;

    printf("head value = %.15g  tail value = %.15g\n", head->val, nodes[0].val);
    printf("list sum = %.15e  array sum = %.15e\n", list_sum, array_sum);
    free(nodes);
    return 0;
}
