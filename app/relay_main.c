#include <stdio.h>

int main(int argc, char **argv)
{
    fputs("jiashu-relay: not built yet\n", stderr);
    return 1;
}
