import t from 'tap';
import { listAll, pageOfBody } from '../../src/cli/pages.js';

t.test('listAll follows next page by page, up to max; a plain array is the only page', async (t) => {
  const data = Array.from({ length: 2345 }, (_, i) => i);
  const asked: string[] = [];
  const get = async (path: string) => {
    asked.push(path);
    const u = new URL(path, 'http://x');
    const start = Number(u.searchParams.get('cursor') ?? 0);
    const limit = Number(u.searchParams.get('limit'));
    return {
      items: data.slice(start, start + limit),
      next: start + limit < data.length ? String(start + limit) : null,
    };
  };
  t.same(await listAll<number>(get, '/things'), data);
  t.same(asked, ['/things?limit=1000', '/things?limit=1000&cursor=1000', '/things?limit=1000&cursor=2000']);
  asked.length = 0;
  t.same(await listAll<number>(get, '/things?state=x', 1001), data.slice(0, 1001));
  t.same(asked, ['/things?state=x&limit=1000', '/things?state=x&limit=1&cursor=1000'], 'asks only for what it keeps');
  t.same(await listAll<number>(async () => [1, 2, 3], '/old'), [1, 2, 3]);
  t.same(pageOfBody([1]), { items: [1], next: null });
});
